print("memjournal")
