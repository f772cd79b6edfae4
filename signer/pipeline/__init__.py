"""The durable pipeline: queued result -> signed -> published, exactly once, across crashes.

``pool`` runs the CPU-bound work (vetting uploads, signing) in worker
processes; ``staging`` keeps a signed document until the registry has
recorded it; ``worker`` claims jobs from the registry's queue and moves
results along.
"""
