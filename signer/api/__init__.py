"""The signer's internal HTTP API: intake of results, their state, revoke and resend.

``app.create_app`` builds the aiohttp application from resources made
elsewhere (``ketqua.serve``); the contract is ``openapi.json`` beside it.
"""
