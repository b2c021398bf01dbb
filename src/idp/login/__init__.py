"""The sign-in journey: password, second factor, enrollment, recovery (BEHAVIOUR S, E, C)."""
