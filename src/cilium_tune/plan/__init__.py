"""Plan: compare what the profile wants with the baseline and lay out typed steps. Never executes."""
