"""UK Open Banking event notifications for TPPs: event subscriptions, signed SETs, callbacks and polling."""
