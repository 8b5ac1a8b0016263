"""Pure parsers from model output grammars to findings with grounded phrases."""
