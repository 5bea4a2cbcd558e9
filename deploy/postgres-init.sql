-- One database per service: no service reads another's tables.
CREATE DATABASE identity;
CREATE DATABASE team;
CREATE DATABASE entitlement;
CREATE DATABASE notification;
