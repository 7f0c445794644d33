"""Structure-aware fuzzing of each consumer as a process (issue 12): the payloads, the
consumers as processes, and the run. Shared by bench/fuzz.py (100,000 payloads each) and
tests/fuzz/test_consumers.py (a CI-sized run)."""
