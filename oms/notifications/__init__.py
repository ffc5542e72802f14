"""Customer notifications (email) about their orders."""
