"""Counted nouns for messages: "1 point", "2 points"."""


def plural(count: int, word: str, words: str | None = None) -> str:
    """`count` and the noun, singular for exactly one: "1 iteration", "1000 iterations"."""
    return f"{count} {word if count == 1 else words or word + 's'}"
