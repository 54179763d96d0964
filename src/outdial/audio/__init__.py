"""Audio pieces shared by telephony and detection: frame constants, G.711, synthetic tones.

Below both ``outdial.telephony`` and ``outdial.detect``, so neither imports the other.
"""
