"""The flow language: schema, validation, a pure interpreter fed events, and text to speech.

Import from the modules (``outdial.flow.document``, ``outdial.flow.interpreter``, …); this
package module has no side effects and re-exports nothing.
"""
