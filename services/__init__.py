"""One function per user intention; each receives its session and `now`, and only flushes."""
