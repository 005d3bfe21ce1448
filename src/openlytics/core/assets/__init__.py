"""Objects as code: every object kind exported and imported as a JSON or YAML document."""
