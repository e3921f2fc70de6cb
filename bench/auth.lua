-- wrk script: GET with a bearer token from the TOKEN env var.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
