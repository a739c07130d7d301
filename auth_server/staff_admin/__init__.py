"""Bank staff's API over logins, their sessions and second factors, and customers' grants (`/admin/v1/identities`,
`/admin/v1/grants`)."""
