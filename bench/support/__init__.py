"""Code the benchmarks and the tests share (the in-process truth run); no benchmark itself."""
