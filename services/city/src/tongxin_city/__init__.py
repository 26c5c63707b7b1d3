"""The city aggregator (市教育局): every district's figures and filings, never a student."""
