"""cnnexp-claims: each claim of the lecture as a check with a method, measured evidence, a verdict
rule fixed in code before any result is seen, and a figure."""
