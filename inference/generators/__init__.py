"""Report generators (``builtin``, ``hf``, ``openai``); registered in ``inference.registry``."""
