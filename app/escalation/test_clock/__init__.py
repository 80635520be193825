"""Test clocks of sandbox tenants (as Stripe's): read the clock, advance it day by day."""
