// Healthcheck for the one-node replica set, and its idempotent initialisation.
// Exit 0 only once this node is PRIMARY; the first run initiates the set (transactions and
// change streams need a replica set), later runs only report its state.
const config = { _id: "rs0", members: [{ _id: 0, host: "mongo:27017" }] };
let status;
try {
  status = rs.status();
} catch (error) {
  if (error.codeName !== "NotYetInitialized") {
    throw error;
  }
  rs.initiate(config);
  quit(1); // unhealthy until a later check sees the election finished
}
quit(status.members.some((member) => member.self && member.stateStr === "PRIMARY") ? 0 : 1);
