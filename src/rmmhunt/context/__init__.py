"""Context for alerts: causality chains, network destinations, running tools and persistence.

`rmmhunt.enrich` runs these steps in order. `causality.build_process_links` links events to the
start of their acting process before the hunt. `activity`, `network` and `persistence` then add
alerts of their own kinds, and `causality`, `network` and `prevalence` attach context keys to
every alert.
"""
