"""What `customer` and `pm` share: reading the free text people type, the Salesforce records
both look at, the port that fetches them, and the fetch plan that keeps a lookup to one
Salesforce round trip followed by one parallel round of Stripe calls."""
