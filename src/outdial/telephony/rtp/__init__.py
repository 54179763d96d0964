"""RTP (RFC 3550) packets and sessions, and RFC 4733 telephone events."""
