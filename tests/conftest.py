pytest_plugins = ["shiplane.testing.plugin"]
