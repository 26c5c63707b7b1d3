"""Tongxin's pages: what a dashboard shows as data, its JSON routes, its server-rendered pages
and the sign-in session, shared by every service that serves pages (the agencies, the city)."""
