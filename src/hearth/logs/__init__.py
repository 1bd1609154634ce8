"""Function logs: streams per execution environment, START / END / REPORT lines."""
