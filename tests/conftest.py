"""Settings for the whole suite."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# Property tests assert behaviour, not speed: on a loaded 2-core machine an example can take far
# longer than hypothesis's 200 ms default deadline, which would fail a correct test. Speed is
# measured by benchmarks/run.py.
settings.register_profile("daybreak", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("daybreak")
