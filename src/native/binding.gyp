{
  "targets": [
    {
      "target_name": "sluice_io",
      "sources": ["sluice_io.c", "batch.c", "devices.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"]
    }
  ]
}
