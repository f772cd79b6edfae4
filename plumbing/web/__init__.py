"""HTTP plumbing both services share: problem documents, metrics, access logs."""
