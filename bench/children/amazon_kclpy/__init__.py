"""A minimal stand-in for amazon_kclpy (kcl, v3.processor), enough for the benchmark's child to import it the
way amazon_kclpy users do. The protocol code is the repository's test implementation of amazon_kclpy 3.x,
test/fixtures/multilang/kclpy_mini.py, so the benchmark and the tests drive the daemon with the same child."""
