-- wrk script: POST /api/v1/statuses with a bearer token from the TOKEN env var.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, "/api/v1/statuses", nil, "status=benchmark+post+" .. counter .. "+%23bench")
end
