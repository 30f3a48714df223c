"""Contracts shared across processes: the posting event, the GraphQL SDL, stored document shapes."""
