"""Customer notifications: security notices and account news by email, SMS, push and the in-app inbox."""
