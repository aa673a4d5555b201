"""Reading-assessment benchmark: passages, planted miscues, synthetic recordings and pages."""
