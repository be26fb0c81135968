"""City Dialogue: threads, official answers and live Q&A sessions."""
