"""Rollout: baseline capture, the journal, the executor (the only loop acting on steps), node switch, rollback."""
