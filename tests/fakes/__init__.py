"""Local fakes of the providers Kalends syncs with, served on 127.0.0.1 for tests."""
