"""Carriers: how outdial places calls (simulated here; SIP in telephony.sip)."""
