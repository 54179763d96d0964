"""The flow language: schema, validation, a pure interpreter fed events, and text to speech.

- ``schema``: the published JSON Schema; ``source``: JSON/YAML text to data with lines;
  ``validate``: every problem at once; ``document``: ``load_flow`` to the dataclasses of
  ``steps``; ``problems``: ``Problem`` and ``FlowInvalid``.
- ``variables``: ``${…}`` references and substitution; ``conditions``: branch cases.
- ``interpreter``: ``Interpreter(flow, params, session)`` with ``start()`` and
  ``feed(event)``, taking ``events`` and returning ``actions``; its step runners are in
  ``runners``, ``collect`` (menu, digits), ``remote`` (http, transfer, goto) and
  ``immediate``; shared state in ``context``.
- ``prompts``: the prompts that can be synthesised while the phone rings; ``tts``: engines and
  their cache; ``rehearsal``: an interpreter run on a virtual clock, with no call.

Import from the modules; this package module has no side effects and re-exports nothing.
"""
