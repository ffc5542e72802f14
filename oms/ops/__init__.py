"""Operations: stuck work found and replayed (the problems view) and the dead-letter table of
tasks that failed for good."""
