"""Media helpers below the engines and the service: clips, image decoding and fetching, MP4
encoding and spritesheets. No database, no blob storage: bytes and files in, bytes and files out."""
