"""The enterprise script library (企业话术库); it arrives with issue 4."""
