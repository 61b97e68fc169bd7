{
  "targets": [
    {
      "target_name": "sluice_io",
      "sources": ["sluice_io.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
