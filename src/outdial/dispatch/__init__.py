"""Dialing: the dialer loop, pacing, capacity, windows, retries."""
