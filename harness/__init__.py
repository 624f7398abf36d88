"""What tests and benchmarks share: the assistant's servers, the production stores behind
fault-injecting proxies, and the browser."""
