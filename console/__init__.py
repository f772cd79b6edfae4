"""The back office's web console: one-stop staff submit, watch, fix and re-deliver results.

Served by the signer's process on its internal port, beside the API (never
by the verifier); server-rendered pages, Vietnamese first, no script, the
public pages' content security policy. People sign in with an account of
``registry.staff``; a session cookie, a CSRF token on every form and the
role's permissions are checked on the server for every request.
"""
