"""outdial's own SIP user agent client (RFC 3261): pure message code, transactions and dialogs
over asyncio UDP, and the ``SipCarrier`` that places calls through a trunk."""
