"""The offline demo world: a story spoken by espeak-ng and simulated listeners."""
