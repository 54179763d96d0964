"""Speech recognition of small grammars and phrase spotting, with pocketsphinx.

``engine`` holds what every use shares: the US English model shipped in pocketsphinx's
wheel, decoders made quiet, and our 8 kHz telephone audio brought to the 16 kHz the model
expects. Decoding is CPU work that blocks: callers in the event loop run it in a worker
thread or process, never on the loop.
"""
