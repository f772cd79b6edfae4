"""The registry: the one record both services share.

Issued results and their history, the job queue, API keys and the audit
trail live in one database (SQLAlchemy Core, async; SQLite by default,
PostgreSQL for many machines); documents live beside it in a
content-addressed blob store. The signer writes here; the verifier reads.
Nothing in this package touches a private key.
"""
